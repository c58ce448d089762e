"""The contract layer: the plain records, errors and I/O every package may import.

Nothing here imports another VideoThat package (the layer test checks it): shots and file
analyses (:mod:`records`), the cut list (:mod:`timeline`), errors, hashing, atomic and
safetensors I/O, device resolution, progress reporting, plug-in registries and the
mapping -> config dataclass builder.
"""
