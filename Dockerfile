# invoice-bridge image (docs/deploy.md, "Container image"):
#   docker build -t invoice-bridge:0.1.0 .
# Build stage: Debian bookworm with the project's own dependency list (scripts/bootstrap.sh),
# a warnings-as-errors release build, installed into /staging. Runtime stage: bookworm-slim
# with only the shared libraries the installed binaries link (tests/deploy/check_image.py
# checks this list against ldd of `cmake --install`), running as an unprivileged user.

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/bootstrap.sh scripts/
RUN scripts/bootstrap.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIB_BUILD_TESTS=OFF -DIB_WERROR=ON \
 && cmake --build /build \
 && DESTDIR=/staging cmake --install /build --prefix /usr/local --strip

FROM debian:bookworm-slim AS runtime
# Every package here is one a binary links directly (libc6 and libgcc-s1 are in the base
# image already); the libraries those need come with them.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libboost-json1.81.0 \
      libboost-url1.81.0 \
      libc6 \
      libfmt9 \
      libgcc-s1 \
      libprometheus-cpp-core1.0 \
      libprotobuf32 \
      librdkafka++1 \
      librdkafka1 \
      librocksdb7.8 \
      libspdlog1.10 \
      libssl3 \
      libstdc++6 \
      libsystemd0 \
      libyaml-cpp0.7 \
 && rm -rf /var/lib/apt/lists/*
# The uid/gid the Kubernetes manifest runs as (deploy/kubernetes/invoice-bridge.yaml).
RUN groupadd --system --gid 10001 invoice-bridge \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/invoice-bridge \
      --shell /usr/sbin/nologin invoice-bridge \
 && mkdir -p /etc/invoice-bridge /var/lib/invoice-bridge \
 && chown 10001:10001 /var/lib/invoice-bridge && chmod 0700 /var/lib/invoice-bridge
COPY --from=build /staging/usr/local/ /usr/local/
USER 10001:10001
WORKDIR /var/lib/invoice-bridge
VOLUME ["/var/lib/invoice-bridge"]
# /metrics, /healthz, /readyz (metrics.port)
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/invoice-bridge"]
CMD ["run", "--config", "/etc/invoice-bridge/invoice-bridge.yaml"]
