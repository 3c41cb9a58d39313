// Gradient of 2-D pooling, gathered per INPUT cell (no float atomics): each invocation
// walks the few output windows that contain its cell and adds their share of dy.
//   max: dy of every window whose first maximal cell (the `first` buffer from the argmax
//        pass of pool2d.wgsl) is this cell,
//   avg: dy / (valid cells of the window) of every window containing it.

struct Params {
    n: i32, h: i32, w: i32, c: i32,      // c: channel vectors
    oh: i32, ow: i32, kh: i32, kw: i32,
    sh: i32, sw: i32, pt: i32, pl: i32,
    total: u32, row_pitch: u32, inf_bits: u32, _pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<{{VT}}>;
{{BINDINGS}}

// First output row (or column) whose window, starting at o * stride - pad, reaches index y.
fn first_window(y: i32, pad: i32, k: i32, stride: i32) -> i32 {
    let a = y + pad - k + 1;
    return select(0, (a + stride - 1) / stride, a > 0);
}

// Valid input cells along one axis of the window starting at `start`.
fn span(start: i32, k: i32, size: i32) -> i32 {
    return min(start + k, size) - max(start, 0);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.total) { return; }
    var rest = i32(i);
    let c = rest % p.c; rest = rest / p.c;
    let x = rest % p.w; rest = rest / p.w;
    let y = rest % p.h;
    let n = rest / p.h;
    let oy_end = min(p.oh, (y + p.pt) / p.sh + 1);
    let ox_end = min(p.ow, (x + p.pl) / p.sw + 1);
    var g = {{VT}}(0.0);
    for (var oy = first_window(y, p.pt, p.kh, p.sh); oy < oy_end; oy = oy + 1) {
        let ky = y + p.pt - oy * p.sh;
        for (var ox = first_window(x, p.pl, p.kw, p.sw); ox < ox_end; ox = ox + 1) {
            let kx = x + p.pl - ox * p.sw;
            let o = ((n * p.oh + oy) * p.ow + ox) * p.c + c;
{{ACCUMULATE}}
        }
    }
    out[i] = g;
}
