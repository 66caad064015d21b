#!/usr/bin/env bash
# ScienceWorld (agentgym/ScienceWorld-v0) runs its simulator in a JVM and needs Java >= 11.
# Install a headless JRE through apt only when no `java` is on PATH; never fail CI over it:
# without Java the ScienceWorld tests skip and say why.
set -u
if command -v java >/dev/null 2>&1; then
    echo "15-java: $(java -version 2>&1 | head -n 1) already present"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "15-java: no java and no apt-get; ScienceWorld tests will be skipped"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
(apt-get update -qq && apt-get install -y -qq --no-install-recommends default-jre-headless) \
    || echo "15-java: could not install default-jre-headless; ScienceWorld tests will be skipped"
command -v java >/dev/null 2>&1 && java -version 2>&1 | head -n 1
exit 0
