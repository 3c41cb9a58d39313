"""tf.random: seeded normal/uniform/truncated_normal, identical on every backend."""
from .ops.random import get_global_seed, normal, set_seed, shuffle, truncated_normal, uniform  # noqa: F401
