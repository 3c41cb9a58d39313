// One output element per invocation: out[i] = EXPR(in0[view0(i)], in1[view1(i)], ...).
// Serves every elementwise op (unary, binary, where, cast) and every copy (transpose,
// broadcast, strided slice): each input is read through a view (offset + strides over
// the output's index; a stride of 0 broadcasts, a negative stride walks backwards).
// pykernel/backends/webgpu/elementwise.py fills the placeholders: input bindings, output
// type, rank, one `let` per input (named a, b, c, ...) and the expression over them.

struct Params {
    numel: u32,
    row_pitch: u32,                      // invocations per row of the 2-D dispatch grid
    _pad0: u32,
    _pad1: u32,
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
    var idx: array<i32, 8>;
    var rem = i32(i);
    for (var d = {{RANK}}; d > 0; d = d - 1) {
        let size = out_dim(u32(d - 1));
        idx[d - 1] = rem % size;
        rem = rem / size;
    }
{{LOADS}}
    out[i] = {{EXPR}};
}
