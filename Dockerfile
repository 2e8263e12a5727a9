# Multi-stage build of the runner API server and the reference runner agent.
#   docker build -t runner-server .
#   docker run -p 8080:8080 -v runner-data:/var/lib/runner-server runner-server
# Protos are compiled by protox inside build.rs: no protoc is needed.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p runner-server -p runner-agent

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/runner-server --create-home runner
COPY --from=build /src/target/release/runner-server /usr/local/bin/runner-server
COPY --from=build /src/target/release/runner-agent /usr/local/bin/runner-agent
WORKDIR /var/lib/runner-server
# glibc's allocator: two arenas instead of one per thread, which held most of the peak RSS
# (docs/performance.md).
ENV MALLOC_ARENA_MAX=2
USER 10001
EXPOSE 8080
ENTRYPOINT ["runner-server"]
CMD ["--listen", "0.0.0.0:8080", "--database-url", "sqlite:///var/lib/runner-server/runners.db", "--key-file", "/var/lib/runner-server/server.key"]
