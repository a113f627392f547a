"""Run a frozen graph in the tightest session.run loop, as a reference.

    python tight_loop.py --model M.pb --cores 0,1 --batch-size 1 --warmup 10 --iterations 100

Prints "loaded" once Python has started, TensorFlow is imported and the graph
is loaded (the bare start-up cost), then "throughput N" in samples per second.
It pins itself and sizes TensorFlow's thread pools like lpot_ux's worker does.
"""

import argparse
import os
import sys
import time

import numpy as np


def main() -> int:
    """Load, warm up, time the loop, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--cores", required=True)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    cores = [int(core) for core in args.cores.split(",")]
    os.sched_setaffinity(0, cores)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # As in the worker: int8 graphs need oneDNN, which TensorFlow leaves off
    # on processors without AVX-512.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    with open(args.model, "rb") as model:
        graph_def.ParseFromString(model.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    config = tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=len(cores), inter_op_parallelism_threads=1
    )
    session = tf.compat.v1.Session(graph=graph, config=config)
    placeholders = [op for op in graph.get_operations() if op.type == "Placeholder"]
    feed = {}
    for op in placeholders:
        shape = [args.batch_size if dim is None else dim for dim in op.outputs[0].shape.as_list()]
        feed[op.outputs[0]] = np.random.default_rng(0).random(shape).astype(op.outputs[0].dtype.as_numpy_dtype)
    fetches = [graph.get_tensor_by_name("Identity:0")]
    print("loaded", flush=True)

    for _ in range(args.warmup):
        session.run(fetches, feed)
    start = time.perf_counter()
    for _ in range(args.iterations):
        session.run(fetches, feed)
    elapsed = time.perf_counter() - start
    print(f"throughput {args.iterations * args.batch_size / elapsed}", flush=True)

    return 0


if __name__ == "__main__":
    sys.exit(main())
