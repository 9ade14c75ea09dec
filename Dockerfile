# remask serve in a container, built from this checkout:
#   docker build -t remask .
#   docker run --rm -p 8080:8080 -v /path/to/model:/model:ro remask [--max-batch 16 ...]
# The model directory (config.json, safetensors, tokenizer.json, tokenizer_config.json) is mounted read-only at
# /model; arguments after the image name are added to `remask serve`'s. GET /health is 200 once the model is
# loaded and 503 while it loads or drains: use it as the liveness and the readiness probe (README, "Serving it").
# Debian 12 as on the development machines (its libtorch, oneDNN and OpenBLAS); the JDK 25 from Temurin's image.
FROM eclipse-temurin:25-jdk AS jdk
FROM eclipse-temurin:25-jre AS jre

FROM debian:bookworm AS build
COPY --from=jdk /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends cmake g++ make maven libtorch-dev \
        libopenblas0-openmp libdnnl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pom.xml ./
COPY native native
COPY src/main src/main
RUN mvn -B -q -ntp -Dmaven.test.skip=true -Dremask.native.targets=remask package

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libtorch1.13 libdnnl2 libopenblas0-openmp \
    && rm -rf /var/lib/apt/lists/*
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
# The jar finds its dependencies in lib/ (its manifest) and libremask.so in native/ beside it.
COPY --from=build /src/target/remask.jar /opt/remask/remask.jar
COPY --from=build /src/target/lib /opt/remask/lib
COPY --from=build /src/target/native/libremask.so /opt/remask/native/libremask.so
RUN useradd --system --uid 10001 --no-create-home remask
USER 10001
# DJL's tokenizer library unpacks into a writable cache and never downloads.
ENV DJL_OFFLINE=true DJL_CACHE_DIR=/tmp/djl
EXPOSE 8080
ENTRYPOINT ["/opt/java/openjdk/bin/java", "-jar", "/opt/remask/remask.jar", "serve", "--model", "/model", \
            "--host", "0.0.0.0", "--port", "8080"]
