function y = wextend(type, mode, x, len, loc)
  % Stands in for MATLAB Wavelet Toolbox wextend (absent from Octave), only the
  % 1-D 'sp0' (constant edge value) and 'per' (periodic) modes that ECGdeli uses.
  if nargin < 5
    loc = 'b';
  end
  if ~(isequal(type, 1) || any(strcmpi(type, {'1', '1d'})))
    error('wextend shim: only 1-D extension is implemented');
  end
  isrow_in = size(x, 1) == 1;
  x = x(:);
  switch lower(mode)
    case 'sp0'
      left = repmat(x(1), len, 1);
      right = repmat(x(end), len, 1);
    case 'per'
      left = x(end-len+1:end);
      right = x(1:len);
    otherwise
      error('wextend shim: mode %s is not implemented', mode);
  end
  switch loc
    case 'l'
      y = [left; x];
    case 'r'
      y = [x; right];
    otherwise
      y = [left; x; right];
  end
  if isrow_in
    y = y.';
  end
end
