use super::{string_value, Invalid};

/// A Kubernetes resource quantity such as `500m`, `2`, `1.5Gi` (the serialisation
/// format of k8s.io/apimachinery's resource.Quantity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity(String);

string_value!(Quantity, r"^[0-9]+(\.[0-9]*)?([numkMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]+)?$");

const SUFFIXES: [(&str, f64); 16] = [
    ("", 1.0),
    ("n", 1e-9),
    ("u", 1e-6),
    ("m", 1e-3),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
    ("Ki", 1024.0),
    ("Mi", 1_048_576.0),
    ("Gi", 1_073_741_824.0),
    ("Ti", 1_099_511_627_776.0),
    ("Pi", 1_125_899_906_842_624.0),
    ("Ei", 1_152_921_504_606_846_976.0),
];

impl Quantity {
    pub fn parse(input: &str) -> Result<Quantity, Invalid> {
        match value(input) {
            Some(_) => Ok(Quantity(input.to_string())),
            None => Err(Invalid::new(format!(
                "\"{input}\" is not a Kubernetes quantity: expected a number with an optional unit, such as 500m, \
                 2, 512Mi or 4Gi"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The amount in base units (cores, bytes), for comparing a request with a limit.
    pub fn value(&self) -> f64 {
        value(&self.0).unwrap_or(0.0)
    }

    /// Whole mebibytes, rounded up (for storage).
    pub fn mebibytes(&self) -> u64 {
        (self.value() / 1_048_576.0).ceil() as u64
    }
}

impl std::str::FromStr for Quantity {
    type Err = String;
    fn from_str(s: &str) -> Result<Quantity, String> {
        Quantity::parse(s).map_err(|e| e.message)
    }
}

fn value(s: &str) -> Option<f64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.matches('.').count() > 1 {
        return None;
    }
    let factor = match SUFFIXES.iter().find(|(name, _)| *name == suffix) {
        Some((_, factor)) => *factor,
        None => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            10f64.powi(exponent.parse().ok()?)
        }
    };
    let v = number.parse::<f64>().ok()? * factor;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_their_values() {
        for (q, v) in [("500m", 0.5), ("2", 2.0), ("1.5", 1.5), ("4Gi", 4294967296.0), ("1e3", 1000.0), ("100k", 1e5)] {
            assert_eq!(Quantity::parse(q).unwrap().value(), v, "{q}");
        }
        for bad in ["", "Gi", "2 Gi", "2GB", "-1", "1..2", "two", "2gi", ".5"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Quantity::parse("10Gi").unwrap().mebibytes(), 10240);
    }
}
