# The runner image: bca-runner, git and the agent CLIs, running as the user every
# rendered Job runs as. `bca render` points Jobs at ghcr.io/manno/bca-runner:<version>;
# .github/workflows/release.yml builds and pushes it on a version tag.
#
# tests/image.rs keeps this file honest: the UID/GID, HOME and directories match what
# bca renders, the agent CLIs come from the same lockfile the tests install, base images
# are pinned by digest, and hadolint and checkov pass.

# Build stage: bca-runner from the workspace's locked dependencies.
FROM docker.io/library/rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p bca-runner \
 && install -m 0755 target/release/bca-runner /usr/local/bin/bca-runner

# Runtime: Node.js 20 (what the pinned agent CLIs need), git, CA certificates, and the
# ordinary tools an agent's shell reaches for (coreutils, grep, sed, find and diff come
# with Debian; ripgrep makes Gemini CLI's search fast).
FROM docker.io/library/node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0 AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="bca-runner" \
      org.opencontainers.image.description="The in-Job steps of bca: fork, clone, run the agent, publish the pull request" \
      org.opencontainers.image.source="https://github.com/manno/bca" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates=20250419~deb12u2 \
      git=1:2.39.5-0+deb12u3 \
      ripgrep=13.0.0-4+b2 \
 && rm -rf /var/lib/apt/lists/*

# The agent CLIs at exactly the versions the tests run (tools/agent-clis/package-lock.json).
COPY tools/agent-clis/package.json tools/agent-clis/package-lock.json /opt/agent-clis/
RUN npm ci --prefix /opt/agent-clis --no-audit --no-fund \
 && npm cache clean --force \
 && ln -s /opt/agent-clis/node_modules/.bin/copilot /usr/local/bin/copilot \
 && ln -s /opt/agent-clis/node_modules/.bin/gemini /usr/local/bin/gemini \
 && ln -s /opt/agent-clis/node_modules/.bin/claude /usr/local/bin/claude \
 && ln -s /opt/agent-clis/node_modules/.bin/codex /usr/local/bin/codex

# Gemini CLI reads this root-owned system settings file over a workspace's own: no MCP
# server, hook or tool discovery command a repository names runs, whatever its
# .gemini/settings.json says (bca_runner::Agent::GEMINI_SYSTEM_SETTINGS).
RUN mkdir /etc/gemini-cli \
 && printf '%s\n' '{"mcp": {"allowed": ["__no_such_server__"], "serverCommand": ""}, "hooksConfig": {"enabled": false}, "tools": {"discoveryCommand": "", "callCommand": ""}}' > /etc/gemini-cli/settings.json

# The user bca renders into runAsUser/runAsGroup, and the directories the Job mounts
# (emptyDirs at run time; they exist here too so the image also runs without them).
RUN groupadd --gid 10001 bca \
 && useradd --uid 10001 --gid 10001 --home-dir /home/bca --create-home --shell /bin/bash bca \
 && mkdir -p /workspace /var/lib/bca /var/lib/bca-handoff \
 && chown 10001:10001 /workspace /var/lib/bca /var/lib/bca-handoff

COPY --from=build /usr/local/bin/bca-runner /usr/local/bin/bca-runner

ENV HOME=/home/bca
USER 10001:10001
WORKDIR /workspace
# Jobs run steps to completion and set `command`; there is no service to probe.
HEALTHCHECK NONE
CMD ["bca-runner", "--help"]
