// Uniform floats in [0, 1) from Philox-4x32-10 (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3"), bit-identical to numpy_backend.philox4x32 / random_uniform:
// invocation b computes the block for counter (b, offset_lo, offset_hi, 0) under key
// (k0, k1) and writes its 4 words as elements 4b .. 4b+3, each as (word >> 8) * 2^-24
// (exact in f32: 24 significant bits times a power of two).

struct Params {
    numel: u32,
    row_pitch: u32,          // invocations (blocks) per row of the 2-D dispatch grid
    k0: u32,
    k1: u32,
    offset_lo: u32,
    offset_hi: u32,
    _pad0: u32,
    _pad1: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

// The high 32 bits of a 32x32-bit product: WGSL has no 64-bit integers, so multiply
// 16-bit limbs (each partial product fits in u32) and carry by hand.
fn mulhi(a: u32, b: u32) -> u32 {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let lo_lo = al * bl;
    let hi_lo = ah * bl;
    let lo_hi = al * bh;
    let carry = ((lo_lo >> 16u) + (hi_lo & 0xffffu) + (lo_hi & 0xffffu)) >> 16u;
    return ah * bh + (hi_lo >> 16u) + (lo_hi >> 16u) + carry;
}

fn to_unit(word: u32) -> f32 { return f32(word >> 8u) * 5.9604644775390625e-8; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x + gid.y * p.row_pitch;
    let first = b * 4u;
    if (first >= p.numel) { return; }
    var c = vec4<u32>(b, p.offset_lo, p.offset_hi, 0u);
    var k = vec2<u32>(p.k0, p.k1);
    for (var r = 0; r < 10; r = r + 1) {
        let lo0 = 0xD2511F53u * c.x;     // u32 multiplication wraps: the low word
        let lo1 = 0xCD9E8D57u * c.z;
        let hi0 = mulhi(0xD2511F53u, c.x);
        let hi1 = mulhi(0xCD9E8D57u, c.z);
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    // the block straddling numel writes only its leading words
    out[first] = to_unit(c.x);
    if (first + 1u < p.numel) { out[first + 1u] = to_unit(c.y); }
    if (first + 2u < p.numel) { out[first + 2u] = to_unit(c.z); }
    if (first + 3u < p.numel) { out[first + 3u] = to_unit(c.w); }
}
