"""Pure torch networks, named after the papers. No I/O, no ROS."""
from .disp_resnet import DispResNet
from .pose_resnet import PoseResNet, RectifyNet
from .resnet import ResNet, ResnetEncoder

__all__ = ['DispResNet', 'PoseResNet', 'RectifyNet', 'ResNet', 'ResnetEncoder']
