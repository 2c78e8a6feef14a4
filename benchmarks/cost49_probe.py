"""cost49 (session 49): the fraction of WGAN-GP's ∂gx = 2gx·(s − 1)/(s + √s), s = gx² + gy², that a cheap front (s and
s − 1 as double words, the rest in float64) could keep within 3u by an a-posteriori bound of its actual roundings
(½ulp each, first order). Measured: 5.2% of U(−1, 1)² in the rule's window 1/16 < s < 64 (80% within 4u, 99.9%
within 5u; median 3.6u): such a front would send 95% to the double words anyway and save nothing."""
import numpy as np
u = 2.0 ** -53
def half_ulp(x):
    return np.ldexp(1.0, np.frexp(np.abs(x))[1] - 54)
def two_prod(a, b):
    p = a * b
    def split(a):
        c = 134217729.0 * a; hi = c - (c - a); return hi, a - hi
    ah, al = split(a); bh, bl = split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl
def two_sum(a, b):
    s = a + b; v = s - a; return s, (a - (s - v)) + (b - v)
r = np.random.default_rng(49); n = 10 ** 6
gx, gy = r.uniform(-1, 1, n), r.uniform(-1, 1, n)
px, ex = two_prod(gx, gx); py, ey = two_prod(gy, gy)
s_hi, s_lo = two_sum(px, py); s_lo = s_lo + (ex + ey)
d_hi, d_lo = two_sum(s_hi, -1.0); d_lo = d_lo + s_lo; d = d_hi + d_lo
win = (s_hi > 1 / 16) & (s_hi < 64)
e_d = (half_ulp(d) + 3 * u * u * s_hi + 2 * u * u * np.abs(d)) / np.abs(d)
num = 2 * gx * d; e_num = e_d + half_ulp(num) / np.abs(num)
e_s = (np.abs(s_lo) + 3 * u * u * s_hi) / s_hi
root = np.sqrt(s_hi); e_r = e_s / 2 + half_ulp(root) / root
den = s_hi + root; e_den = (s_hi * e_s + root * e_r) / den + half_ulp(den) / den
v = num / den; e_v = e_num + e_den + half_ulp(v) / np.abs(v)
for within in (3, 4, 5):
    print(f"kept within {within}u: {np.mean(e_v[win] * 1.01 <= within * u):.3f}")
print("median bound / u:", np.median(e_v[win] / u))
