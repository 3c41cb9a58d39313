"""Trainer: compile / fit / evaluate / predict, mixed into Model.

One training step is `train_step(data)`: forward pass under a GradientTape, loss plus the
layers' regularization losses, gradients, `optimizer.apply_gradients`, metric updates. It
is wrapped with `pykernel.function` so that graph tracing and replay can speed it up
without changing this code. Metric values stay on the device; they become Python floats
only in `logs.to_float`, when logs are produced.
"""
from ... import nest, ops
from ...autodiff import GradientTape
from ...graph import function
from .. import backend
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..callbacks import CallbackList
from . import data_adapter
from .compile_utils import CompiledLoss, CompiledMetrics
from .logs import BatchLogs, to_floats


class Trainer:
    def _init_trainer(self):
        self.optimizer = None
        self.compiled_loss = None
        self.compiled_metrics = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compiled = False
        self._run_eagerly = False
        self.steps_per_execution = 1
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.train_function = self.test_function = self.predict_function = None

    # ------------------------------------------------------------ compile

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configure training: optimizer and loss (names or objects), metrics (e.g. ['accuracy'])."""
        if kwargs:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: {sorted(kwargs)}")
        if loss_weights is not None or weighted_metrics is not None:
            raise NotImplementedError("loss_weights and weighted_metrics are not supported yet")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.compiled_loss = CompiledLoss(loss, self._loss_tracker)
        self.compiled_metrics = CompiledMetrics(metrics, self.compiled_loss.loss)
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int) \
                or steps_per_execution < 1:
            raise ValueError(f"steps_per_execution must be a positive integer, got {steps_per_execution!r}")
        self.steps_per_execution = steps_per_execution
        self._run_eagerly = bool(run_eagerly)
        self.train_function = self.test_function = self.predict_function = None
        self._compiled = True

    @property
    def run_eagerly(self):
        return self._run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value):
        self._run_eagerly = bool(value)
        self.train_function = self.test_function = self.predict_function = None

    def _assert_compiled(self, what):
        if not self._compiled:
            raise RuntimeError(f"You must call `compile()` before using the model for {what}.")

    # ------------------------------------------------------------ metrics

    @property
    def metrics(self):
        """The loss tracker, then the compiled metrics (a list of Metric objects)."""
        out = [self._loss_tracker] if self._compiled else []
        if self.compiled_metrics is not None:
            out.extend(self.compiled_metrics.metrics)
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    def get_metrics_result(self):
        """{name: result tensor} for every metric (no device read)."""
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------ steps

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus every layer's added/regularization losses."""
        return self.compiled_loss.compute(y, y_pred, sample_weight, regularization_losses=self.losses)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def train_step(self, data):
        """One optimization step on a batch; returns {metric name: result tensor}."""
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        variables = self.trainable_variables
        if variables:
            gradients = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(gradients, variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = data_adapter.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _compiled_step(self, step):
        return step if self._run_eagerly else function(step)

    def make_train_function(self):
        if self.train_function is None:
            self.train_function = self._compiled_step(self.train_step)
        return self.train_function

    def make_test_function(self):
        if self.test_function is None:
            self.test_function = self._compiled_step(self.test_step)
        return self.test_function

    def make_predict_function(self):
        if self.predict_function is None:
            self.predict_function = self._compiled_step(self.predict_step)
        return self.predict_function

    # ------------------------------------------------------------ fit

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1):
        """Train for `epochs` epochs; returns the History callback (`.history` dict of lists)."""
        self._assert_compiled("training")
        if x is None:
            raise ValueError("fit() needs training data `x`")
        _check_fit_arguments(epochs, initial_epoch, batch_size, validation_batch_size, steps_per_epoch,
                             validation_steps, validation_freq)
        arrays, validation_data = _fit_arrays(x, y, sample_weight, validation_split, validation_data)
        train_data = data_adapter.ArrayDataAdapter(*arrays, batch_size=batch_size, steps=steps_per_epoch,
                                                   shuffle=shuffle, class_weight=class_weight,
                                                   steps_name="steps_per_epoch")
        verbose = _verbosity(verbose)
        callbacks = self._callback_list(callbacks, add_history=True, verbose=verbose, epochs=epochs,
                                        steps=train_data.steps)
        self.stop_training = False
        callbacks.on_train_begin()
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            epoch_logs = self._train_epoch(train_data, callbacks)
            if validation_data is not None and _should_validate(epoch, validation_freq):
                val_x, val_y, val_sample_weight = validation_data
                val_logs = self.evaluate(val_x, val_y, sample_weight=val_sample_weight,
                                         batch_size=validation_batch_size or batch_size, steps=validation_steps,
                                         callbacks=callbacks, verbose=0, return_dict=True)
                epoch_logs.update({"val_" + name: value for name, value in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callbacks.on_train_end(logs=epoch_logs)
        return callbacks.history

    def _train_epoch(self, train_data, callbacks):
        """Run the train steps of one epoch; the epoch logs are the last step's results (the
        metrics accumulate over the epoch), read from the device once, here."""
        train_function = self.make_train_function()
        step_logs = {}
        for first, last, batches in _executions(train_data.batches(), self.steps_per_execution):
            callbacks.on_train_batch_begin(first)
            for batch in batches:
                step_logs = train_function(batch)
            callbacks.on_train_batch_end(last, BatchLogs(step_logs))
            if self.stop_training:
                break
        return to_floats(step_logs)

    # ------------------------------------------------------------ evaluate / predict

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """The loss and metrics over the data: a float, a list [loss, metrics...] or a dict."""
        if kwargs:
            raise TypeError(f"Invalid keyword arguments to evaluate(): {sorted(kwargs)}")
        self._assert_compiled("evaluation")
        data = data_adapter.adapter_for(x, y, sample_weight, batch_size=batch_size, steps=steps)
        if not isinstance(callbacks, CallbackList):
            callbacks = self._callback_list(callbacks, verbose=_verbosity(verbose), epochs=1, steps=data.steps)
        test_function = self.make_test_function()
        self.reset_metrics()
        callbacks.on_test_begin()
        step_logs = {}
        for first, last, batches in _executions(data.batches(), self.steps_per_execution):
            callbacks.on_test_batch_begin(first)
            for batch in batches:
                step_logs = test_function(batch)
            callbacks.on_test_batch_end(last, BatchLogs(step_logs))
        logs = to_floats(step_logs) if step_logs else to_floats(self.get_metrics_result())
        callbacks.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names if name in logs] or list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for `x`, batch by batch: NumPy arrays where NumPy exists."""
        data = data_adapter.adapter_for(x, batch_size=batch_size, steps=steps)
        if data.size == 0:
            # tf.keras raises ValueError here ("Unexpected result of `predict_function` (Empty
            # batch_outputs)"); Keras 3 fails with UnboundLocalError: no batch ran, so there is no
            # output structure to concatenate.
            shapes = [tuple(t.shape) for t in nest.flatten(data.x)]
            raise ValueError("predict() needs at least one sample, but the input `x` contains 0 samples "
                             f"(shape{'s' if len(shapes) > 1 else ''} "
                             f"{', '.join(map(str, shapes))}): there is nothing to predict.")
        callbacks = self._callback_list(callbacks, verbose=_verbosity(verbose), epochs=1, steps=data.steps)
        predict_function = self.make_predict_function()
        callbacks.on_predict_begin()
        outputs = []
        for step, batch in data.batches():
            callbacks.on_predict_batch_begin(step)
            batch_outputs = predict_function(batch)
            outputs.append(batch_outputs)
            callbacks.on_predict_batch_end(step, {"outputs": batch_outputs})
        callbacks.on_predict_end()
        joined = nest.map_structure(lambda *parts: _concat(parts), *outputs)
        return nest.map_structure(backend.to_host, joined)

    # ------------------------------------------------------------ single batches

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self._assert_compiled("training")
        batch = data_adapter.adapter_for(x, y, sample_weight, class_weight=class_weight).whole_batch()
        self.reset_metrics()
        return self._batch_result(to_floats(self.make_train_function()(batch)), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("evaluation")
        batch = data_adapter.adapter_for(x, y, sample_weight).whole_batch()
        self.reset_metrics()
        return self._batch_result(to_floats(self.make_test_function()(batch)), return_dict)

    def predict_on_batch(self, x):
        batch = data_adapter.adapter_for(x).whole_batch()
        return nest.map_structure(backend.to_host, self.make_predict_function()(batch))

    def _batch_result(self, logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------ helpers

    def _callback_list(self, callbacks, add_history=False, verbose=0, epochs=1, steps=None):
        return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0, model=self,
                            verbose=verbose, epochs=epochs, steps=steps)


def _fit_arrays(x, y, sample_weight, validation_split, validation_data):
    """Training arrays [x, y, sample_weight] and validation (x, y, sample_weight) as tensors,
    each uploaded once; `validation_split` takes the last samples, as Keras does."""
    arrays = [data_adapter.to_tensors(x, features=True), data_adapter.to_tensors(y, features=False),
              data_adapter.to_tensors(sample_weight, features=False)]
    data_adapter.check_lengths(*arrays)
    if validation_data is not None:
        val_x, val_y, val_sample_weight = _unpack_validation(validation_data)
        validation_data = (data_adapter.to_tensors(val_x, features=True),
                           data_adapter.to_tensors(val_y, features=False),
                           data_adapter.to_tensors(val_sample_weight, features=False))
    elif validation_split:
        arrays, validation_arrays = data_adapter.train_validation_split(arrays, validation_split)
        validation_data = tuple(validation_arrays)
    return arrays, validation_data


def _check_fit_arguments(epochs, initial_epoch, batch_size, validation_batch_size, steps_per_epoch,
                         validation_steps, validation_freq):
    """fit()'s counts, checked before any data is uploaded. epochs <= initial_epoch is allowed
    and trains nothing, as in Keras (its fit loop is `range(initial_epoch, epochs)`)."""
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if not data_adapter.is_integer(value):
            raise TypeError(f"`{name}` must be an integer (a number of epochs); received {name}={value!r} "
                            f"of type {type(value).__name__}")
    if initial_epoch < 0:
        raise ValueError(f"`initial_epoch` must be >= 0; received initial_epoch={initial_epoch}")
    data_adapter.check_batch_size(batch_size)
    data_adapter.check_batch_size(validation_batch_size, "validation_batch_size")
    data_adapter.check_steps(steps_per_epoch, "steps_per_epoch")
    data_adapter.check_steps(validation_steps, "validation_steps")
    if data_adapter.is_integer(validation_freq):
        if validation_freq < 1:
            raise ValueError("`validation_freq` must be a positive integer (validate every N epochs) or a "
                             f"list of epochs; received validation_freq={validation_freq}")
    elif not isinstance(validation_freq, (list, tuple)):
        raise ValueError("Expected `validation_freq` to be a list or int. Received: "
                         f"validation_freq={validation_freq!r} of the type {type(validation_freq).__name__}.")


def _verbosity(verbose):
    return 1 if verbose == "auto" else int(verbose)


def _should_validate(epoch, validation_freq):
    if data_adapter.is_integer(validation_freq):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


def _unpack_validation(validation_data):
    """(x, y, sample_weight) from `(x_val, y_val)` or `(x_val, y_val, val_sample_weight)`."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("`validation_data` should be a tuple `(x_val, y_val)` or "
                         f"`(x_val, y_val, val_sample_weight)`; got {type(validation_data).__name__}")
    return tuple(validation_data) + (None,) * (3 - len(validation_data))


def _batch_size(x):
    return nest.flatten(x)[0].shape[0]


def _concat(parts):
    return parts[0] if len(parts) == 1 else ops.concat(list(parts), axis=0)


def _executions(batches, steps_per_execution):
    """(first step, last step, batches) per execution of `steps_per_execution` steps, as Keras
    groups them: callbacks see one batch begin/end per execution, so nothing between its steps
    reads the device and the steps go to the GPU together."""
    chunk, first = [], 0
    for step, batch in batches:
        if not chunk:
            first = step
        chunk.append(batch)
        if len(chunk) == steps_per_execution:
            yield first, step, chunk
            chunk = []
    if chunk:
        yield first, first + len(chunk) - 1, chunk
