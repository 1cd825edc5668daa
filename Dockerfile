# The `deploy` container image: deploy, helm, kubectl and sops (static binaries, each checked
# against SHA256SUMS) and git, on Debian bookworm slim, as a non-root user. Published by the
# release workflow as ghcr.io/hub-ops/deploy:<tag> (docs/install.md, "Container image").
#
# The build context is NOT this repository: it is a folder made by scripts/image-context, holding
# deploy, helm, kubectl, sops and their SHA256SUMS (the release workflow fills it from the
# release's musl build and the tools' publishers' downloads, each verified there first):
#
#   scripts/image-context ctx && docker build -f Dockerfile -t deploy ctx
#
# BASE: the Debian base of both stages (pin it by digest, `debian:bookworm-slim@sha256:…`, for
# byte-for-byte rebuilds; the end-to-end test builds on a debootstrapped bookworm).
ARG BASE=debian:bookworm-slim

# verify: the binaries are exactly those SHA256SUMS names (no more, no fewer, no other bytes),
# executable, and each runs.
FROM ${BASE} AS verify
WORKDIR /image
COPY deploy helm kubectl sops SHA256SUMS ./
RUN set -eu; \
    test "$(sed 's/^[0-9a-f]* [ *]//' SHA256SUMS | sort | tr '\n' ' ')" = "deploy helm kubectl sops " \
      || { echo "SHA256SUMS must list exactly deploy, helm, kubectl and sops" >&2; exit 1; }; \
    sha256sum --strict -c SHA256SUMS; \
    chmod 0755 deploy helm kubectl sops; \
    ./deploy --version; ./helm version --short; ./kubectl version --client; \
    ./sops --version --disable-version-check

FROM ${BASE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="deploy" \
      org.opencontainers.image.description="deploy (JupyterHub-style Helm releases from a hub-ops repo) with helm, kubectl, sops and git" \
      org.opencontainers.image.source="https://github.com/hub-ops/deploy" \
      org.opencontainers.image.documentation="https://github.com/hub-ops/deploy/blob/main/docs/install.md#container-image" \
      org.opencontainers.image.licenses="BSD-3-Clause" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# git and curl (hubs' health checks), with CA certificates for HTTPS, from Debian; a mounted
# checkout belongs to another user, so
# git trusts every directory (no "dubious ownership" refusal).
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ca-certificates curl; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb; \
    git config --system --add safe.directory '*'; \
    useradd --uid 10001 --user-group --create-home --shell /bin/sh deploy
COPY --from=verify /image/deploy /image/helm /image/kubectl /image/sops /usr/local/bin/
# `sops --version` never calls GitHub from a CI job
ENV SOPS_DISABLE_VERSION_CHECK=1
USER 10001:10001
WORKDIR /repo
ENTRYPOINT ["deploy"]
CMD ["--help"]
