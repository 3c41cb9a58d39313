"""Device selection (a tf.config-style surface)."""
from . import backends


def set_device(name):
    """Make `name` ('cpu' or, where available, 'webgpu') the device new tensors go to."""
    backends.set_default(name)


def get_device():
    return backends.default().name


def list_devices():
    return list(backends.available())


# TF's device types for pykernel's backends: WebGPU is the GPU ('/GPU:0' selects it).
_DEVICE_TYPES = {"cpu": "CPU", "webgpu": "GPU"}


def list_physical_devices(device_type=None):
    devices = [PhysicalDevice(f"/physical_device:{_DEVICE_TYPES.get(name, name.upper())}:0",
                              _DEVICE_TYPES.get(name, name.upper())) for name in backends.available()]
    return [d for d in devices if device_type is None or d.device_type == device_type.upper()]


class PhysicalDevice:
    def __init__(self, name, device_type):
        self.name = name
        self.device_type = device_type

    def __repr__(self):
        return f"PhysicalDevice(name={self.name!r}, device_type={self.device_type!r})"


class LogicalDeviceConfiguration:
    """TF's per-device settings; `memory_limit` (MB) is the GPU's memory budget here."""

    def __init__(self, memory_limit=None, experimental_priority=None, experimental_device_ordinal=None):
        self.memory_limit = memory_limit


def _gpu_pool(device):
    name = device.name if isinstance(device, PhysicalDevice) else device
    backend = backends.get(name.replace("physical_device:", ""))
    pool = getattr(backend, "pool", None)
    if pool is None:
        raise ValueError(f"{name} has no device memory to configure or measure (only the GPU does)")
    return pool


def set_logical_device_configuration(device, logical_devices):
    """`[LogicalDeviceConfiguration(memory_limit=MB)]` caps what the GPU may hold: allocating
    beyond it raises ResourceExhaustedError (TF's memory_limit, also PYKERNEL_GPU_MEMORY_LIMIT_MB)."""
    if len(logical_devices) != 1:
        raise ValueError(f"pykernel has one logical device per physical device; got {len(logical_devices)} "
                         "configurations")
    limit = logical_devices[0].memory_limit
    if limit is None:
        return
    if not isinstance(limit, (int, float)) or isinstance(limit, bool) or not limit > 0:
        raise ValueError(f"memory_limit must be a positive number of megabytes, got {limit!r}")
    _gpu_pool(device).budget = int(limit * (1 << 20))


def get_memory_info(device):
    """{'current': bytes held by live tensors, 'peak': the most since the last reset} (TF's)."""
    pool = _gpu_pool(device)
    return {"current": pool.bytes_live, "peak": pool.peak_bytes_live}


def reset_memory_stats(device):
    pool = _gpu_pool(device)
    pool.peak_bytes_live = pool.bytes_live


def run_functions_eagerly(run_eagerly):
    """With True, tf.function calls run the Python function itself, op by op (for debugging:
    print and breakpoints see values); False (the default) traces and replays graphs."""
    from .graph.function import run_functions_eagerly as set_eager
    set_eager(run_eagerly)


def functions_run_eagerly():
    from .graph.function import functions_run_eagerly as eager
    return eager()


experimental = type("experimental", (), {
    "enable_op_determinism": staticmethod(lambda: None),
    "set_memory_growth": staticmethod(lambda device, enable: None),   # buffers are allocated as needed anyway
    "get_memory_info": staticmethod(get_memory_info),
    "reset_memory_stats": staticmethod(reset_memory_stats),
    "set_virtual_device_configuration": staticmethod(set_logical_device_configuration),
    "VirtualDeviceConfiguration": LogicalDeviceConfiguration,
})


# Grappler's switches, tf.config.optimizer: "remapping" (TF's pass that fuses ops such as a
# matmul, its bias and activation) turns pykernel's fusion (graph/fuse.py) on or off for
# functions traced afterwards; TF's other options are accepted and have no effect here.
_optimizer_options = {}


def _set_experimental_options(options):
    if not isinstance(options, dict):
        raise TypeError(f"set_experimental_options takes a dict of option names to values, got {type(options).__name__}")
    from .graph import replay
    _optimizer_options.update(options)
    if "remapping" in options:
        replay.set_fusion(bool(options["remapping"]))


optimizer = type("optimizer", (), {
    "set_experimental_options": staticmethod(_set_experimental_options),
    "get_experimental_options": staticmethod(lambda: dict(_optimizer_options)),
    "set_jit": staticmethod(lambda enabled: None),
    "get_jit": staticmethod(lambda: ""),
})
