# A small runtime image of the Bazaar server.
#   docker build -t bazaar .
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://user@db:5432/bazaar bazaar
# SQLite (the default) keeps its file in /data; mount a volume there to keep it.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# SQLite and libpq are compiled from source by the build: no system libraries needed.
RUN cargo build --release --locked --bin bazaar && strip target/release/bazaar

FROM debian:bookworm-slim
# Root certificates for TLS to S3 (--media-url).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /data --create-home bazaar
COPY --from=build /src/target/release/bazaar /usr/local/bin/bazaar
USER bazaar
WORKDIR /data
ENV BAZAAR_BIND=0.0.0.0:8080 \
    BAZAAR_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["/usr/local/bin/bazaar"]
CMD ["serve"]
