// One optimizer step of one variable (Backend.optimizer_update), one element per invocation:
// the variable, its gradient and its slots (momentum; Adam's m and v; ...) in, their new
// values out, into fresh buffers (buffers are immutable: snapshots of a Variable read before
// the step keep their values). pykernel/backends/webgpu/optimizer.py fills in the kind's
// formulas (BODY, in the composed formula's order of operations) and only the bindings the
// body reads or writes (BINDINGS, from 1; a declared but unused binding would be dropped
// from the auto layout and break the bind group).
//
// The learning rate (Adam: the bias-corrected step size) is the device scalar rate[0]: a
// schedule or an assigned rate changes no pipeline and needs no read-back. The kind's fixed
// constants (momentum, 1 - beta_1, epsilon, ...) are in the uniform, rounded by the host.
// A kind with three slots would need 10 storage buffers in one pass, WebGPU promises 8: it
// runs as two dispatches, the slots first, then the variable from the new slots.

struct Params {
    total: u32,
    row_pitch: u32,            // invocations per row of the 2-D dispatch grid
    _pad0: u32,
    _pad1: u32,
    c: vec4<f32>,              // the kind's constants, in base.optimizer_constants order
};

@group(0) @binding(0) var<uniform> p: Params;
{{BINDINGS}}

fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

// NumPy's maximum: a NaN on either side wins (WGSL's max leaves NaN unspecified).
fn maximum(a: f32, b: f32) -> f32 { return select(select(b, a, a >= b), a, is_nan(a)); }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.total) { return; }
{{BODY}}
}
