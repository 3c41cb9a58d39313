// Backend.affine_warp: TF's ImageProjectiveTransformV3 over NHWC float32 images, one output
// element per invocation (neighbouring invocations take neighbouring channels, then pixels).
// Each output pixel (x, y) of image b reads input point ((a0 x + a1 y + a2) / k,
// (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, of transform row b (row 0 for all images
// when t_stride is 0; k is 1 with 6 columns); map_coord brings it back into the image as
// FILL_MODE extends it, and the value there is read by nearest or bilinear interpolation,
// with fill_value for neighbours outside. Reference: base.warp_source / warp_interpolate.
// pykernel/backends/webgpu/warp.py fills in FILL_MODE and BILINEAR (constants, so each
// pipeline holds only its own mode's code).

struct Params {
    h: i32, w: i32, c: u32, total: u32,
    row_pitch: u32,                      // invocations per row of the 2-D dispatch grid
    t_stride: u32,                       // floats between transform rows: 0 shares row 0
    t_cols: u32,                         // 6 (affine) or 8 (projective)
    fill_value: f32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> images: array<f32>;
@group(0) @binding(2) var<storage, read> transforms: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const REFLECT = 0u;
const WRAP = 1u;
const CONSTANT = 2u;
const NEAREST = 3u;
const FILL_MODE = {{FILL_MODE}}u;
const BILINEAR = {{BILINEAR}};

// Bit tests: a compiler may assume finite floats in comparisons, never in integer ops.
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

// TF's MapCoordinate. Returns false where the point takes fill_value instead (NaN, or an
// infinity under reflect/wrap, where TF's integer conversion is undefined). trunc serves
// for TF's integer casts: every division here is of a positive number.
fn map_coord(c: ptr<function, f32>, size: i32) -> bool {
    let n = f32(size);
    let last = n - 1.0;
    var x = *c;
    if (FILL_MODE == CONSTANT) { return is_finite(x); }  // an infinite point is outside anyway
    if (FILL_MODE == NEAREST) {
        if (is_nan(x)) { return false; }
    } else if (!is_finite(x)) {
        return false;
    } else if (FILL_MODE == REFLECT) {               // dcba|abcd|dcba
        if (x < 0.0) {
            if (size <= 1) { x = 0.0; } else {
                let sz2 = 2.0 * n;
                x = sz2 * trunc(-x / sz2) + x;
                x = select(-x - 1.0, x + sz2, x < -n);
            }
        } else if (x > last) {
            if (size <= 1) { x = 0.0; } else {
                let sz2 = 2.0 * n;
                x = x - sz2 * trunc(x / sz2);
                if (x >= n) { x = (sz2 - x) - 1.0; }
            }
        }
    } else {                                         // WRAP, abcd|abcd|abcd; TF divides by n - 1
        if (x < 0.0) {
            if (size <= 1) { x = 0.0; } else { x = x + n * (trunc(-x / last) + 1.0); }
        } else if (x > last) {
            if (size <= 1) { x = 0.0; } else { x = x - n * trunc(x / last); }
        }
    }
    *c = clamp(x, 0.0, last);
    return true;
}

fn pixel_at(b: u32, iy: i32, ix: i32, ch: u32) -> f32 {
    if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) { return p.fill_value; }
    return images[((b * u32(p.h) + u32(iy)) * u32(p.w) + u32(ix)) * p.c + ch];
}

// std::round for c >= 0: c - floor(c) is exact (floor(c + 0.5) is not)
fn round_half_away(c: f32) -> i32 {
    let f = floor(c);
    return i32(f) + select(0, 1, c - f >= 0.5);
}

fn sample(b: u32, ox: u32, oy: u32, ch: u32) -> f32 {
    let t = b * p.t_stride;
    let x = f32(ox);
    let y = f32(oy);
    var sx = transforms[t] * x + transforms[t + 1u] * y + transforms[t + 2u];
    var sy = transforms[t + 3u] * x + transforms[t + 4u] * y + transforms[t + 5u];
    if (p.t_cols == 8u) {
        let k = transforms[t + 6u] * x + transforms[t + 7u] * y + 1.0;
        if (k == 0.0) { return p.fill_value; }
        sx = sx / k;
        sy = sy / k;
    }
    if (!map_coord(&sx, p.w) || !map_coord(&sy, p.h)) { return p.fill_value; }
    if (FILL_MODE == CONSTANT && (sx < 0.0 || sx > f32(p.w - 1) || sy < 0.0 || sy > f32(p.h - 1))) {
        return p.fill_value;
    }
    if (!BILINEAR) {
        return pixel_at(b, round_half_away(sy), round_half_away(sx), ch);
    }
    let x0 = floor(sx);
    let y0 = floor(sy);
    let ix = i32(x0);
    let iy = i32(y0);
    let wx0 = (x0 + 1.0) - sx;
    let wx1 = sx - x0;
    let top = wx0 * pixel_at(b, iy, ix, ch) + wx1 * pixel_at(b, iy, ix + 1, ch);
    let bottom = wx0 * pixel_at(b, iy + 1, ix, ch) + wx1 * pixel_at(b, iy + 1, ix + 1, ch);
    return ((y0 + 1.0) - sy) * top + (sy - y0) * bottom;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_pitch;
    if (i >= p.total) { return; }
    let ch = i % p.c;
    let pixel = i / p.c;
    let ox = pixel % u32(p.w);
    let oy = (pixel / u32(p.w)) % u32(p.h);
    let b = pixel / (u32(p.w) * u32(p.h));
    out[i] = sample(b, ox, oy, ch);
}
