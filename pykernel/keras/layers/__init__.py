"""keras.layers: the building blocks of models."""
from .activation import Activation, LeakyReLU, ReLU, Softmax  # noqa: F401
from .augmentation import RandomFlip, RandomRotation, RandomTranslation, RandomZoom  # noqa: F401
from .batch_normalization import BatchNormalization  # noqa: F401
from .convolution import Conv2D  # noqa: F401
from .dense import Dense  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .input_layer import Input, InputLayer  # noqa: F401
from .input_spec import InputSpec  # noqa: F401
from .lambda_layer import Lambda  # noqa: F401
from .layer import Layer  # noqa: F401
from .pooling import (  # noqa: F401
    AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D,
    GlobalMaxPooling2D, MaxPool2D, MaxPooling2D,
)
from .reshaping import Flatten, Reshape  # noqa: F401

Convolution2D = Conv2D


class _Namespace:
    def __init__(self, **members):
        self.__dict__.update(members)


# TF 2.3-2.5 spelled the augmentation layers keras.layers.experimental.preprocessing.RandomFlip, ...
experimental = _Namespace(preprocessing=_Namespace(
    RandomFlip=RandomFlip, RandomRotation=RandomRotation, RandomTranslation=RandomTranslation,
    RandomZoom=RandomZoom))
