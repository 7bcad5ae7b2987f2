"""The diffusion machinery behind the model nodes: values on links, schedulers, sampling.

These modules import torch; the node declarations in :mod:`nodes.library` import them
only inside ``run`` so that listing or validating nodes stays fast.
"""
