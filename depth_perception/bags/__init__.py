"""rosbag2 adapters: numpy <-> ROS 2 message objects (rosbags, no rclpy) and a small bag writer.

`messages` builds/decodes sensor_msgs, geometry_msgs and tf2_msgs objects from numpy arrays;
`writer.BagWriter` writes them to MCAP or sqlite3 rosbag2 folders.
"""
from .messages import (TYPESTORE, camera_info_msg, decode_image, header_msg, image_msg,
                       pose_stamped_msg, serialize, T_from_pose_msg, T_from_transform_msg,
                       tf_message, time_msg, transform_stamped_msg)
from .writer import BagWriter, BagWriterError

__all__ = ['TYPESTORE', 'camera_info_msg', 'decode_image', 'header_msg', 'image_msg',
           'pose_stamped_msg', 'serialize', 'T_from_pose_msg', 'T_from_transform_msg',
           'tf_message', 'time_msg', 'transform_stamped_msg', 'BagWriter', 'BagWriterError']
