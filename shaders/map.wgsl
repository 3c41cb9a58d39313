// One output element per invocation: out[i] = EXPR(in0[view0(i)], in1[view1(i)], ...).
// Serves every elementwise op (unary, binary, where, cast) and every copy (transpose,
// broadcast, strided slice): each input is read through a view (offset + strides over
// the output's index; a stride of 0 broadcasts, a negative stride walks backwards).
// pykernel/backends/webgpu/elementwise.py fills the placeholders: input bindings, output
// type, per-input offset code, one `let` per input (named a, b, c, ...) and the expression.
// The rank is a uniform (dims merged first by elementwise.collapse), not a constant: one
// pipeline per expression and dtypes serves every shape.

struct Params {
    numel: u32,
    row_pitch: u32,                      // invocations per row of the 2-D dispatch grid
    rank: u32,                           // dims in out_shape / each view's strides
    _pad1: u32,
    consts: vec4<i32>,                   // values an expression reads without a recompile
    out_shape: array<vec4<i32>, 2>,      // up to rank 8
    views: array<vec4<i32>, {{VIEW_VEC4S}}>, // per input: offset, then 8 strides
};

@group(0) @binding(0) var<uniform> p: Params;
{{INPUTS}}
@group(0) @binding({{OUT_BINDING}}) var<storage, read_write> out: array<{{OUT_TYPE}}>;

fn out_dim(d: u32) -> i32 { return p.out_shape[d / 4u][d % 4u]; }
fn view_offset(v: u32) -> i32 { return p.views[v * 3u].x; }
fn view_stride(v: u32, d: u32) -> i32 { return p.views[v * 3u + 1u + d / 4u][d % 4u]; }

{{HELPERS}}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.numel) { return; }
{{OFFSETS}}
    // dims rank-1 .. 1 peel off with % and /; what is left is the outermost index (< its
    // size, since i < numel), so rank 1 (every same-shape elementwise op once collapsed)
    // costs no division at all
    var rem = i32(i);
    for (var d = p.rank - 1u; d > 0u && d < 8u; d = d - 1u) {
        let size = out_dim(d);
        let j = rem % size;
        rem = rem / size;
{{STEPS}}
    }
    if (p.rank > 0u) {
        let j = rem;
        let d = 0u;
{{STEPS}}
    }
{{LOADS}}
    out[i] = {{EXPR}};
}
