// Concatenation of up to 7 inputs (8 storage buffers per stage, one is the output) in
// one pass: every array is viewed as (rows, columns) with the concat axis and everything
// after it folded into the columns, so rank never reaches the kernel. This dispatch
// fills columns [col0, col0 + width) of the output; input k owns the columns
// [bound(k), bound(k + 1)) of that range. More inputs take several dispatches.
// Words are copied raw, so the pipeline depends only on the number of inputs and WORD:
// vec4<u32> when every input's row is a multiple of 4 elements (columns then count vec4s).

struct Params {
    numel: u32,
    row_pitch: u32,                      // invocations per row of the 2-D dispatch grid
    width: u32,                          // output columns this dispatch writes
    total: u32,                          // output columns per row
    col0: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    bounds: array<vec4<u32>, 2>,         // bound(k) for k = 0..8, relative to col0
};

@group(0) @binding(0) var<uniform> p: Params;
{{INPUTS}}
@group(0) @binding({{OUT_BINDING}}) var<storage, read_write> out: array<{{WORD}}>;

fn bound(k: u32) -> u32 { return p.bounds[k / 4u][k % 4u]; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.numel) { return; }
    let c = i % p.width;
    let r = i / p.width;
    var v = {{WORD}}();
{{SELECT}}
    out[r * p.total + p.col0 + c] = v;
}
