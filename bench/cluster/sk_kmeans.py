#!/usr/bin/env python3
"""sk_kmeans.py ITEMS.npy K N_INIT - scikit-learn's KMeans (k-means++, Lloyd,
tol 1e-4, max_iter 300, as rs-cluster's defaults) on the same matrix; prints
"inertia SECONDS ITERATIONS"."""
import sys
import time

import numpy as np
from sklearn.cluster import KMeans

x = np.load(sys.argv[1])
t = time.time()
km = KMeans(n_clusters=int(sys.argv[2]), n_init=int(sys.argv[3]), init="k-means++", algorithm="lloyd",
            random_state=0).fit(x)
print("%.9g %.2f %d" % (km.inertia_, time.time() - t, km.n_iter_))
