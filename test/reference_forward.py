"""An independent, functional SC-Depth depth forward written from the documented facts
(reference-systems.md §1.1) straight from a state_dict. Used to check that our modules
interpret checkpoint keys exactly as the reference networks do."""
import torch
import torch.nn.functional as F


def _bn(x, sd, p):
    return F.batch_norm(x, sd[p + '.running_mean'], sd[p + '.running_var'], sd[p + '.weight'],
                        sd[p + '.bias'], False, 0.0, 1e-5)


def _basic_block(x, sd, p, stride):
    out = F.relu(_bn(F.conv2d(x, sd[p + '.conv1.weight'], stride=stride, padding=1), sd, p + '.bn1'))
    out = _bn(F.conv2d(out, sd[p + '.conv2.weight'], padding=1), sd, p + '.bn2')
    if p + '.downsample.0.weight' in sd:
        x = _bn(F.conv2d(x, sd[p + '.downsample.0.weight'], stride=stride), sd, p + '.downsample.1')
    return F.relu(out + x)


def resnet18_features(x, sd, prefix='encoder.encoder'):
    f0 = F.relu(_bn(F.conv2d(x, sd[prefix + '.conv1.weight'], stride=2, padding=3), sd, prefix + '.bn1'))
    feats = [f0]
    x = F.max_pool2d(f0, 3, 2, 1)
    for layer in range(1, 5):
        for block in range(2):
            stride = 2 if (layer > 1 and block == 0) else 1
            x = _basic_block(x, sd, f'{prefix}.layer{layer}.{block}', stride)
        feats.append(x)
    return feats


def _conv3x3_reflect(x, sd, p):
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode='reflect'), sd[p + '.weight'], sd[p + '.bias'])


def depth_forward(x, sd, upsample='bilinear'):
    """Full-resolution depth (1/disp) from a sc_depth_pl-keyed DispResNet-18 state_dict."""
    feats = resnet18_features(x, sd)
    y = feats[4]
    disp0 = None
    for cnt, level in enumerate([4, 3, 2, 1, 0]):
        y = F.elu(_conv3x3_reflect(y, sd, f'decoder.upconvs0.{cnt}.conv.conv'))
        if upsample == 'nearest':
            y = F.interpolate(y, scale_factor=2, mode='nearest')
        else:
            y = F.interpolate(y, scale_factor=2, mode='bilinear', align_corners=False)
        if level > 0:
            y = torch.cat([y, feats[level - 1]], 1)
        y = F.elu(_conv3x3_reflect(y, sd, f'decoder.upconvs1.{cnt}.conv.conv'))
        if level == 0:
            disp0 = 10 * torch.sigmoid(_conv3x3_reflect(y, sd, 'decoder.dispconvs.0.conv')) + 0.01
    return 1.0 / disp0
