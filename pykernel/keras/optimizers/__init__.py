"""keras.optimizers: SGD, Adam, Adagrad, RMSprop, learning-rate schedules, and `get` by name."""
from . import schedules  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adam import Adam  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401



class legacy:  # noqa: N801  (tf.keras.optimizers.legacy.Adam etc. in TF 2.11+ code)
    SGD, Adam, Adagrad, RMSprop, Optimizer = SGD, Adam, Adagrad, RMSprop, Optimizer


_BY_NAME = {"sgd": SGD, "adam": Adam, "adagrad": Adagrad, "rmsprop": RMSprop}


def get(identifier):
    """An optimizer from a name ('adam', case-insensitive, with Keras defaults), a config
    dict ({'class_name': 'Adam', 'config': {...}}) or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer: {identifier!r}. Valid names are: {', '.join(sorted(_BY_NAME))}")
        return cls()
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer class: {identifier.get('class_name')!r}. Valid names are: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return cls.from_config(identifier.get("config", {}))
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    return get(config)
