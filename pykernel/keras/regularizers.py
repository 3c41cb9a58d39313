"""keras.regularizers: weight penalties added to the training loss (`layer.losses`)."""
from .. import ops


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x**2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __call__(self, x):
        penalty = None
        if self.l1:
            penalty = self.l1 * ops.reduce_sum(ops.abs(x))
        if self.l2:
            term = self.l2 * ops.reduce_sum(ops.square(x))
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else ops.zeros((), dtype=x.dtype)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2 = L1, L2


def l1_l2(l1=0.01, l2=0.01):  # noqa: F811  (tf.keras's function, with its defaults)
    return L1L2(l1=l1, l2=l2)


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": l1_l2, "l1l2": L1L2}


def get(identifier):
    """A regularizer from a name ('l2'), a config dict, an instance or a callable; None stays None."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        factory = _BY_NAME.get(identifier.lower())
        if factory is None:
            raise ValueError(f"Unknown regularizer: {identifier!r}. Valid names are: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return factory()
    if isinstance(identifier, dict):
        cls = {"L1": L1, "L2": L2, "L1L2": L1L2}.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown regularizer class: {identifier.get('class_name')!r}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")


def serialize(regularizer):
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
