//! What makes a custom resource bca types itself look like a core type to the rest of
//! the code: its kind, group and version, and its metadata.

/// `k8s_openapi::Resource` and `Metadata` for a custom resource bca types itself (with
/// `metadata: ObjectMeta`), so it is named and kinded like the core types.
macro_rules! custom_resource {
    ($ty:ident, group: $group:literal, version: $version:literal, kind: $kind:literal, plural: $plural:literal) => {
        impl k8s_openapi::Resource for $ty {
            const API_VERSION: &'static str = concat!($group, "/", $version);
            const GROUP: &'static str = $group;
            const KIND: &'static str = $kind;
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }

        impl k8s_openapi::Metadata for $ty {
            type Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }
    };
}
pub(crate) use custom_resource;
