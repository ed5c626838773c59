# One image for every cryptoviz role (produce, consume, serve, run, replay …).
#
# Stage 1 builds the dependencies alone from the manifests (and the workspace-hack crate that
# fixes their features), so that layer is cached until Cargo.toml/Cargo.lock change; stage 2
# builds the binary; stage 3 is a slim runtime.
FROM rust:1.94-bookworm AS deps
RUN apt-get update && apt-get install -y --no-install-recommends cmake clang && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .config .config
COPY workspace-hack workspace-hack
COPY schemas/Cargo.toml schemas/Cargo.toml
COPY measurements/Cargo.toml measurements/Cargo.toml
COPY log/Cargo.toml log/Cargo.toml
COPY producers/Cargo.toml producers/Cargo.toml
COPY consumers/Cargo.toml consumers/Cargo.toml
COPY store/Cargo.toml store/Cargo.toml
COPY serving-api/Cargo.toml serving-api/Cargo.toml
COPY cryptoviz/Cargo.toml cryptoviz/Cargo.toml
# Empty targets so `cargo build` compiles (and caches) every dependency.
RUN for c in schemas measurements log producers consumers store serving-api; do mkdir -p $c/src && echo '' > $c/src/lib.rs; done \
 && mkdir -p cryptoviz/src && echo 'fn main() {}' > cryptoviz/src/main.rs \
 && cargo build --release --locked --bin cryptoviz \
 && rm -rf schemas/src measurements/src log/src producers/src consumers/src store/src serving-api/src cryptoviz/src

FROM deps AS build
COPY . .
# Touch the sources so cargo rebuilds the workspace crates over the placeholder builds.
RUN find schemas measurements log producers consumers store serving-api cryptoviz -name '*.rs' -exec touch {} + \
 && cargo build --release --locked --bin cryptoviz

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/cryptoviz cryptoviz && mkdir -p /var/lib/cryptoviz && chown cryptoviz /var/lib/cryptoviz
COPY --from=build /src/target/release/cryptoviz /usr/local/bin/cryptoviz
USER cryptoviz
WORKDIR /var/lib/cryptoviz
ENV CRYPTOVIZ_LOG=info
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/cryptoviz"]
CMD ["run"]
