"""Device selection (a tf.config-style surface)."""
from . import backends


def set_device(name):
    """Make `name` ('cpu' or, where available, 'webgpu') the device new tensors go to."""
    backends.set_default(name)


def get_device():
    return backends.default().name


def list_devices():
    return list(backends.available())


def list_physical_devices(device_type=None):
    devices = [PhysicalDevice(f"/physical_device:{name.upper()}:0", name.upper()) for name in backends.available()]
    return [d for d in devices if device_type is None or d.device_type == device_type.upper()]


class PhysicalDevice:
    def __init__(self, name, device_type):
        self.name = name
        self.device_type = device_type

    def __repr__(self):
        return f"PhysicalDevice(name={self.name!r}, device_type={self.device_type!r})"


def run_functions_eagerly(run_eagerly):
    """Functions always run eagerly for now; accepted for compatibility."""


experimental = type("experimental", (), {"enable_op_determinism": staticmethod(lambda: None)})
