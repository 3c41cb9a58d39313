"""keras.callbacks: hooks into fit/evaluate/predict."""
from .callback import Callback  # noqa: F401
from .callback_list import CallbackList  # noqa: F401
from .early_stopping import EarlyStopping  # noqa: F401
from .event_stream import EventStream, set_event_sink  # noqa: F401
from .history import History  # noqa: F401
from .lambda_callback import LambdaCallback  # noqa: F401
from .learning_rate_scheduler import LearningRateScheduler  # noqa: F401
from .progbar_logger import ProgbarLogger  # noqa: F401
from .reduce_lr_on_plateau import ReduceLROnPlateau  # noqa: F401
from .terminate_on_nan import TerminateOnNaN  # noqa: F401
