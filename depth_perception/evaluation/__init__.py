"""Bag evaluation: depth metrics (SC-Depth definitions), trajectory metrics (evo + KITTI
segments), offline (direct bag read) and live (bag replay through the ROS node) runners,
reports and output bags. Nothing here imports rclpy except `live` and `player`."""
