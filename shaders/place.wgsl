// out[i] = in[(idx(i) - begin) / stride] where that lands exactly on an element of `in`,
// else `value`: constant padding (stride 1, begin = pad before) and the gradient of a
// strided slice (value 0; strides may be negative) in one pass over the output, so the
// output needs no separate fill. Words are copied raw: one pipeline per rank, any dtype,
// and the fill value travels in the params (its bit pattern), never in the source. WORD
// is vec4<u32> when the last axis is contiguous and 4-aligned (it then counts vec4s).

struct Params {
    numel: u32,
    row_pitch: u32,                      // invocations per row of the 2-D dispatch grid
    value: u32,                          // bits of the fill value in the output's dtype
    _pad0: u32,
    out_shape: array<vec4<i32>, 2>,      // up to rank 8
    in_shape: array<vec4<i32>, 2>,
    begin: array<vec4<i32>, 2>,
    stride: array<vec4<i32>, 2>,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<{{WORD}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{WORD}}>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.numel) { return; }
    var rem = i32(i);
    var at = 0;
    var pitch = 1;                       // row-major stride of `in` along the current axis
    var inside = true;
    for (var d = {{RANK}} - 1; d >= 0; d = d - 1) {
        let size = p.out_shape[d / 4][d % 4];
        let q = rem % size - p.begin[d / 4][d % 4];
        rem = rem / size;
        let s = p.stride[d / 4][d % 4];
        let t = q / s;                   // truncating division: exact hits have q == t * s
        let n = p.in_shape[d / 4][d % 4];
        inside = inside && q == t * s && t >= 0 && t < n;
        at = at + t * pitch;
        pitch = pitch * n;
    }
    var v = {{WORD}}(p.value);
    if (inside) { v = src[at]; }
    out[i] = v;
}
