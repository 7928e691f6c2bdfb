# Spore task artifact (shipped with Federation): minimise the 10-dimensional Rosenbrock function by gradient
# descent with momentum. A proposal changes the hyper-parameters or the update rule; the metric is the final
# loss, printed as "loss: <value>" (lower is better). Pure Python, deterministic, well under a second.
LR = 0.0005
MOMENTUM = 0.5
STEPS = 3000
DIM = 10


def loss_and_grad(x):
    f = 0.0
    g = [0.0] * len(x)
    for i in range(len(x) - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1.0 - x[i]
        f += 100.0 * a * a + b * b
        g[i] += -400.0 * x[i] * a - 2.0 * b
        g[i + 1] += 200.0 * a
    return f, g


x = [-1.2 if i % 2 == 0 else 1.0 for i in range(DIM)]
v = [0.0] * DIM
for step in range(STEPS):
    f, g = loss_and_grad(x)
    for i in range(DIM):
        v[i] = MOMENTUM * v[i] - LR * g[i]
        x[i] += v[i]
f, _ = loss_and_grad(x)
print(f"loss: {f!r}")
