"""Writers from synthetic sequences to on-disk formats: SC-Depth folders, Still Box, rosbag2."""
from .bag import BagTopics, write_bag
from .sc_depth import DEPTH_PNG_SCALE, write_sc_depth
from .stillbox import write_stillbox
from .summary import WriteSummary

__all__ = ['BagTopics', 'write_bag', 'DEPTH_PNG_SCALE', 'write_sc_depth', 'write_stillbox',
           'WriteSummary']
