"""Pure torch networks, named after the papers. No I/O, no ROS."""
from .depthnet import DepthNet
from .disp_resnet import DispResNet
from .pose_resnet import PoseResNet, RectifyNet
from .resnet import ResNet, ResnetEncoder

__all__ = ['DepthNet', 'DispResNet', 'PoseResNet', 'RectifyNet', 'ResNet', 'ResnetEncoder']
