"""A stand-in camera driver for the real-tool tests: publishes rgb8 images and their
camera_info on <prefix>/image_raw and <prefix>/camera_info for each prefix, until SIGINT/SIGTERM.

    python fake_camera.py /camera /cam1 --rate 5 --width 160 --height 120

Frames are a textured, moving scene (so the depth network sees structure), with real stamps.
"""
from __future__ import annotations

import argparse
import array
import signal
import sys

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from sensor_msgs.msg import CameraInfo, Image


def frame_rgb(index: int, width: int, height: int) -> bytes:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shift = 3.0 * index
    checker = (((x + shift) // 16 + y // 16) % 2) * 120.0
    ramp = 100.0 * y / max(height - 1, 1)
    rgb = np.stack([checker + ramp, 255.0 - ramp, (x * 255.0 / max(width - 1, 1))], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8).tobytes()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('prefixes', nargs='+')
    parser.add_argument('--rate', type=float, default=5.0)
    parser.add_argument('--width', type=int, default=160)
    parser.add_argument('--height', type=int, default=120)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    rclpy.init()
    node = rclpy.create_node('fake_camera')
    pubs = [(node.create_publisher(Image, f'{p.rstrip("/")}/image_raw', 10),
             node.create_publisher(CameraInfo, f'{p.rstrip("/")}/camera_info', 10)) for p in args.prefixes]
    w, h = args.width, args.height
    f = 0.9 * w
    count = [0]

    def publish():
        stamp = node.get_clock().now().to_msg()
        data = array.array('B', frame_rgb(count[0], w, h))
        for image_pub, info_pub in pubs:
            info = CameraInfo()
            info.header.stamp, info.header.frame_id = stamp, 'camera_optical_frame'
            info.width, info.height, info.distortion_model = w, h, 'plumb_bob'
            info.d = [0.0] * 5
            info.k = [f, 0.0, w / 2, 0.0, f, h / 2, 0.0, 0.0, 1.0]
            info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
            info.p = [f, 0.0, w / 2, 0.0, 0.0, f, h / 2, 0.0, 0.0, 0.0, 1.0, 0.0]
            image = Image()
            image.header = info.header
            image.width, image.height, image.encoding, image.step = w, h, 'rgb8', 3 * w
            image.data = data
            info_pub.publish(info)
            image_pub.publish(image)
        count[0] += 1

    node.create_timer(1.0 / args.rate, publish)
    print(f'fake_camera publishing on {args.prefixes}', flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
