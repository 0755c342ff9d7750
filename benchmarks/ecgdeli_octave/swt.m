function [swa, swd] = swt(x, n, varargin)
  % Stands in for MATLAB Wavelet Toolbox swt (absent from Octave): 1-D stationary
  % wavelet transform as MATLAB computes it (periodic extension by lf/2, full
  % convolution, keep lx samples from lf+1, filters upsampled by dyadup(f,0,1)).
  % Accepts a wavelet name ('haar', 'db1', 'rbio3.3') or decomposition filters.
  if numel(varargin) == 1
    [lo, hi] = decomposition_filters(varargin{1});
  else
    lo = varargin{1}(:).';
    hi = varargin{2}(:).';
  end
  x = x(:).';
  lx = numel(x);
  swa = zeros(n, lx);
  swd = zeros(n, lx);
  for k = 1:n
    lf = numel(lo);
    xe = [x(end-lf/2+1:end), x, x(1:lf/2)];
    d = conv(xe, hi);
    a = conv(xe, lo);
    swd(k, :) = d(lf+1:lf+lx);
    swa(k, :) = a(lf+1:lf+lx);
    lo = upsample_even(lo);
    hi = upsample_even(hi);
    x = swa(k, :);
  end
end

function y = upsample_even(f)
  % dyadup(f, 0, 1): [f1 0 f2 0 ... fn 0]
  y = zeros(1, 2 * numel(f));
  y(1:2:end) = f;
end

function [lo, hi] = decomposition_filters(name)
  % Values of wfilters(name, 'd') in MATLAB.
  switch lower(name)
    case {'haar', 'db1'}
      lo = [1 1] / sqrt(2);
      hi = [-1 1] / sqrt(2);
    case 'rbio3.3'
      lo = sqrt(2) / 8 * [0 0 1 3 3 1 0 0];
      hi = sqrt(2) / 64 * [-3 -9 7 45 -45 -7 9 3];
    otherwise
      error('swt shim: wavelet %s is not implemented', name);
  end
end
