"""ROS 2 adapter: the only package that imports rclpy and message types.

It converts messages to the ROS-free core's numpy objects and back, and wires parameters;
the maths lives in the core (estimators, geometry, pointcloud, odometry).
"""
