"""tf.compat: `v1` (TF 1 graph mode: placeholders, Session, tf.compat.v1.train, plus every
tf op, so `import pykernel.compat.v1 as tf` runs TF 1 programs) and `v2` (the TF 2 API,
that is pykernel itself)."""
from . import v1, v2  # noqa: F401
