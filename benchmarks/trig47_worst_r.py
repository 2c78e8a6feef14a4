"""Lower bound of |x − kπ/2| over doubles x in each binade [2^e, 2^(e+1)), e = -1 … E: (π/2)·min_{1≤q<2^53} ||q·α||,
α = 2^(e−52)/(π/2), from the continued fraction of α (the best approximations' denominators), mpmath at 400 digits;
also the x where it is reached (q the largest convergent denominator below 2^53 in [2^52, 2^53) when it is there)."""
import mpmath, sys
mpmath.mp.dps = 400
E = int(sys.argv[1]) if len(sys.argv) > 1 else 21
half_pi = mpmath.pi / 2
worst = []
for e in range(-1, E + 1):
    alpha = mpmath.mpf(2) ** (e - 52) / half_pi
    # convergents p/q of alpha
    a = alpha; h0, h1 = 0, 1; k0, k1 = 1, 0
    best = None
    for _ in range(200):
        ai = int(mpmath.floor(a))
        h0, h1 = h1, ai * h1 + h0
        k0, k1 = k1, ai * k1 + k0
        if k1 >= 2**53:
            break
        d = abs(k1 * alpha - h1)
        if k1 >= 1 and (best is None or d < best[0]):
            best = (d, k1, h1)
        frac = a - ai
        if frac == 0:
            break
        a = 1 / frac
    d, q, p = best
    r = d * half_pi
    worst.append((e, float(mpmath.log(r, 2)), q, q >= 2**52))
for e, lg, q, inside in worst:
    print(e, round(lg, 2), q, inside)
print("overall min log2 r:", min(w[1] for w in worst))
