#!/bin/bash
# Prepare a bare GPU machine: carried wheels (pydantic) into /tmp/site, fold 9 unpacked into
# /root/ptbxl9 when .devdata/f9 was carried. Source it: `. training/gpu_setup.sh`.
if [ ! -d /tmp/site/pydantic ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || return 1
fi
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
if [ -f .devdata/f9/unpack.py ] && [ ! -f /root/ptbxl9/.fold9.ok ]; then
  mkdir -p /root/f9 && cp .devdata/f9/* /root/f9/ && python3 /root/f9/unpack.py /root/ptbxl9 --folds 9
fi
