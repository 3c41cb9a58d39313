"""CallbackList: fans each hook out to a list of callbacks (adding History, the progress
logger, and an EventStream when a host listens for training events)."""
from .callback import Callback
from .event_stream import EventStream, event_sink
from .history import History
from .progbar_logger import ProgbarLogger

HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
    "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end",
)


class CallbackList(Callback):
    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback instances, got {type(cb).__name__}")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)  # last: it records logs other callbacks have added to
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if event_sink() is not None and not any(isinstance(cb, EventStream) for cb in self.callbacks):
            self.callbacks.append(EventStream())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_model(self, model):
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)


def _fan_out(hook):
    """Call `hook` on every callback, always passing `logs` (a dict, possibly empty) as
    Keras does, so callbacks written as `lambda epoch, logs: ...` work."""
    indexed = "batch" in hook or "epoch" in hook

    if indexed:
        def call_all(self, index, logs=None):
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(index, logs)
    else:
        def call_all(self, logs=None):
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(logs)
    call_all.__name__ = hook
    return call_all


for _hook in HOOKS:
    setattr(CallbackList, _hook, _fan_out(_hook))
