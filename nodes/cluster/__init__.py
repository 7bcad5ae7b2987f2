"""Daguerre on Ray: one workflow, a batch of seeds or prompts, many GPUs.

:class:`ClusterRunner` implements :class:`~nodes.run_protocol.RunnerProtocol` over a Ray
cluster: one long-lived actor per GPU (or per worker slot on a CPU-only cluster), each with
its own executor and model cache; jobs that share a checkpoint go to an actor that has it
loaded (:mod:`~nodes.cluster.scheduling`); results come back as bytes and are written in
the client's output folder, numbered in submission order as the local runner numbers them
(:mod:`~nodes.cluster.artifacts`). An actor that dies mid-job has its job retried on
another, up to a limit; a job that fails on its own (bad input) is not retried.

Ray is the optional ``cluster`` extra: nothing imports it until a runner is made
(:class:`nodes.cluster.runner.ClusterRunner`, usually through
:func:`nodes.run_protocol.open_runner`).
"""
