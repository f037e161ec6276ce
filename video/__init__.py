"""Your own video -> MediaPipe Holistic landmarks (competition format) -> phrase.

`video.env` (no third-party imports) finds or creates the separate video environment and runs the extractor in it;
`video.holistic` and `video.overlay` import mediapipe / OpenCV and run only inside that environment.
"""
