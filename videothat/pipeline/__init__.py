"""The jobs: the only package that composes stages.

``make`` (analyse, match, render), ``archive`` (index build/add/remove), ``queries``
(shots for a song, music for a video); :mod:`run` holds what every job takes beside its
inputs (:class:`~videothat.pipeline.run.Configs` and :class:`~videothat.pipeline.run.Run`).
"""
