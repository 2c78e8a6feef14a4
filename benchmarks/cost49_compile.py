"""cost49 (session 49): 16 logits' cross-entropy: doubleword._pair_log_terms with the memoised _definer (each
temporary written out once) and with the fixpoint _defined for every output (830d4279's few = True), same arguments."""
import time
import symnet
from symnet.codegen import doubleword as dw
captured = []
orig = dw._pair_log_terms
def hook(assignments, results):
    captured.append((assignments, results))
    return orig(assignments, results)
dw._pair_log_terms = hook
f = "-log(exp(s0/T)/(%s))" % " + ".join("exp(s%d/T)" % i for i in range(16))
symnet.compile(symnet.derive(f), progress=False)
assignments, results = captured[0]
t = time.process_time(); memo = orig(assignments, results); t_memo = time.process_time() - t
dw._definer = lambda definitions: (lambda e: dw._defined(e, definitions))  # the fixpoint, each term again
t = time.process_time(); fix = orig(assignments, results); t_fix = time.process_time() - t
print(f"outputs {len(results)}: memoised {t_memo:.2f} CPU s, fixpoint {t_fix:.2f} CPU s, same result {memo == fix}")
