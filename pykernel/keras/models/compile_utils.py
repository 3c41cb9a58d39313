"""What `compile(loss=..., metrics=...)` turns its arguments into.

CompiledLoss applies the loss (plus regularization penalties); CompiledMetrics resolves
metric names, including Keras's 'accuracy', whose meaning depends on the loss and shapes.
"""
from ... import ops
from .. import losses as losses_module
from .. import metrics as metrics_module


def loss_kind(loss):
    """'sparse', 'categorical' or 'binary' for the cross-entropies (function, class or name)."""
    fn = getattr(loss, "fn", loss)
    if fn is losses_module.sparse_categorical_crossentropy:
        return "sparse"
    if fn is losses_module.categorical_crossentropy:
        return "categorical"
    if fn is losses_module.binary_crossentropy:
        return "binary"
    return None


_ACCURACY_BY_KIND = {
    "sparse": metrics_module.SparseCategoricalAccuracy,
    "categorical": metrics_module.CategoricalAccuracy,
    "binary": metrics_module.BinaryAccuracy,
}


def accuracy_for(loss, y_true=None, y_pred=None):
    """The accuracy metric class Keras picks for the string 'accuracy': from the loss when it
    is a cross-entropy, otherwise from the shapes (None when shapes are still unknown)."""
    kind = loss_kind(loss)
    if kind is None and y_pred is not None:
        if y_pred.shape[-1] == 1:
            kind = "binary"
        elif y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
            kind = "sparse"
        else:
            kind = "categorical"
    return _ACCURACY_BY_KIND.get(kind)


class CompiledLoss:
    """The compiled loss: `loss(y_true, y_pred, sample_weight)` + regularization losses.

    Calling it directly (tf.keras 2 custom train steps do) also updates the model's 'loss'
    metric, as `model.compiled_loss` did in tf.keras."""

    def __init__(self, loss, loss_tracker=None):
        self.loss = losses_module.get(loss)
        self._tracker = loss_tracker

    def compute(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        if self.loss is None:
            value = None
        elif isinstance(self.loss, losses_module.Loss):
            value = self.loss(y_true, y_pred, sample_weight=sample_weight)
        else:
            value = losses_module.reduce_weighted_values(self.loss(y_true, y_pred), sample_weight)
        penalties = list(regularization_losses or [])
        if penalties:
            penalty = ops.add_n(penalties)
            value = penalty if value is None else value + penalty
        if value is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return value

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        value = self.compute(y_true, y_pred, sample_weight, regularization_losses)
        if self._tracker is not None:
            self._tracker.update_state(value, sample_weight=y_pred.shape[0])
        return value


class CompiledMetrics:
    """The compiled metrics, resolved from names; 'accuracy'/'acc' may wait for the first batch."""

    def __init__(self, metrics, loss):
        if metrics is None:
            metrics = []
        if isinstance(metrics, dict):
            raise NotImplementedError("metrics given as a dict (per output) are not supported yet")
        if not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self._loss = loss
        self._pending = []   # (position, identifier) that need the data's shapes
        self._resolved = {}  # position -> Metric
        for position, identifier in enumerate(metrics):
            metric = self._resolve(identifier)
            if metric is None:
                self._pending.append((position, identifier))
            else:
                self._resolved[position] = metric
        self._count = len(metrics)

    def _resolve(self, identifier, y_true=None, y_pred=None):
        if isinstance(identifier, str) and identifier in ("accuracy", "acc"):
            cls = accuracy_for(self._loss, y_true, y_pred)
            if cls is None:
                return None
            metric = cls()
            metric.name = identifier
            return metric
        metric = metrics_module.get(identifier)
        if isinstance(identifier, str):
            metric.name = identifier  # logs use the name as written: 'mse', 'mae', ...
        return metric

    @property
    def built(self):
        return not self._pending

    def build(self, y_true, y_pred):
        for position, identifier in self._pending:
            self._resolved[position] = self._resolve(identifier, y_true, y_pred)
        self._pending = []

    @property
    def metrics(self):
        return [self._resolved[p] for p in range(self._count) if p in self._resolved]

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self._pending:
            self.build(y_true, y_pred)
        for metric in self.metrics:
            metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def reset_state(self):
        for metric in self.metrics:
            metric.reset_state()
