function m = median(x, dim)
  % Shadows Octave's median, which errors on an empty input where MATLAB's returns
  % NaN: T_Detection takes medians of a template set that can be empty. Otherwise
  % as MATLAB: middle value (mean of the two middle ones), NaN if any NaN, along
  % the first non-singleton dimension or dim.
  if isempty(x) && nargin < 2
    m = NaN;
    return
  end
  if nargin < 2
    dim = find(size(x) ~= 1, 1);
    if isempty(dim)
      dim = 1;
    end
  end
  if dim == 2
    x = x.';
  end
  n = size(x, 1);
  s = sort(x, 1);
  if n == 0
    m = nan(1, size(x, 2));
  elseif mod(n, 2)
    m = s((n + 1) / 2, :);
  else
    m = (s(n / 2, :) + s(n / 2 + 1, :)) / 2;
  end
  m(any(isnan(x), 1)) = NaN;
  if dim == 2
    m = m.';
  end
end
