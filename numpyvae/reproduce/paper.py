"""Values of Kingma & Welling 2013 (arXiv 1312.6114v10), read off their figures at pixel level.

Figure 2 values are at 1e8 training samples (MNIST about +-0.5 nat, Frey Faces about +-15);
wake-sleep's train and test curves coincide there. Figure 3 values are at the right edge of each
panel. These are readings of plots, not published numbers.
"""

# (data, N_z) -> (AEVB train, AEVB test, wake-sleep)
FIG2 = {
    ("mnist", 3): (-130.1, -133.5, -138.5),
    ("mnist", 5): (-116.3, -119.1, -121.0),
    ("mnist", 10): (-100.7, -103.7, -106.1),
    ("mnist", 20): (-98.2, -100.1, -103.6),
    ("mnist", 200): (-98.5, -100.0, -103.4),
    ("frey", 2): (932.0, 870.0, 579.0),
    ("frey", 5): (1230.0, 1113.0, 579.0),
    ("frey", 10): (1459.0, 1309.0, 578.0),
    ("frey", 20): (1485.0, 1314.0, 578.0),
}
FIG2_SAMPLES = 1e8
FIG2_NZ = {"mnist": (3, 5, 10, 20, 200), "frey": (2, 5, 10, 20)}
FIG2_READ_ERROR = {"mnist": 0.5, "frey": 15.0}

# N_train -> method -> (train, test) marginal log-likelihood at the end of K&W Figure 3
FIG3 = {
    1000: {"aevb": (-109.1, -143.2), "wake_sleep": (-125.5, -144.8), "mcem": (-109.0, -141.6)},
    50000: {"aevb": (-130.9, -137.9), "wake_sleep": (-136.8, -141.0), "mcem": (-147.0, -148.4)},
}

# K&W section 5: architecture and optimisation
HIDDEN = {"mnist": 500, "frey": 200}
LIKELIHOOD = {"mnist": "bernoulli", "frey": "gaussian_sigmoid"}
LR_CANDIDATES = (0.01, 0.02, 0.1)
BATCH_SIZE = 100
INIT_SCALE = 0.01
